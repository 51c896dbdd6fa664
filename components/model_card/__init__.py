"""Model card per pushed version (``logic``); the VersionedPusher writes it."""
