// GaleDaemons: nimbus, supervisor, scheduler, status API.
