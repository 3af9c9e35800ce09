"""Claims: the X12 837P builder and validator (``claims.x837p``), NPI checks (``claims.npi``),
clearinghouse submission (``claims.clearinghouse``, ``claims.submission``), acknowledgments
(``claims.acks``), a local clearinghouse simulator (``claims.simulator``), 835 remittance
(``claims.remit``) and denial prediction and appeals (``claims.denials``)."""
