"""Sharing one incident between hosts through an ops PostgreSQL (DESIGN.md "Several responders").

events   the change events and their validation      merge   applying others' events
outbox   the journal beside the session file          publish sending pending events once
opsdb    the ops schema and every statement sent      sharer  the threads a dashboard runs
client   what the one-shot commands do                oneshot a command's session, opened shared
"""
