"""Authentication: who may call Patchbay (``inbound``) and how Patchbay proves itself (``outbound``)."""
