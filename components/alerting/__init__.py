"""Alert messages (one builder, :mod:`components.alerting.message`) and their delivery channels."""
