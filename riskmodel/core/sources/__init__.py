"""Sources beyond the crossings log: presence reports, permit applications, enforcement records."""
