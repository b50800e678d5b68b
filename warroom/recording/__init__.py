"""The flight recorder: frames (a sample's figures plus every client backend) kept in SQLite.

frame.py holds what a frame is; store.py the SQLite file (keyframes plus deltas, see there);
pgstore.py the same in an ops PostgreSQL (--store DSN); store_api.py what both do, and
open_store;
retention.py the age and size limits; sampler.py one server's frame per sample; recorder.py the
loop `warroom record` runs; settings.py its ``[record]`` section; unit.py the systemd unit;
export.py a session's frames beside it; leadup.py the rollups a new incident takes;
opener.py the incident the recorder opens at a breach (``open_incident_on``) and finding it again;
at_resolve.py the frames saved when an incident is resolved.
Never imports textual.
"""
