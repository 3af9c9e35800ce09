"""Claims: the X12 837P builder and validator (``claims.x837p``) and NPI checks (``claims.npi``)."""
