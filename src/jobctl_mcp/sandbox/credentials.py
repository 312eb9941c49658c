"""The made-up credentials the simulated vendors accept, apart from the simulations, so that naming them does not
load a simulation."""

COMMVAULT_USERNAME = "admin"
COMMVAULT_PASSWORD = "sandbox-password"
COMMVAULT_API_KEY = "QSDK sandbox-commvault-token"

QOVERY_API_KEY = "qov_sandbox_token"
QOVERY_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJzYW5kYm94LXVzZXIiLCJpc3MiOiJodHRwczovL2F1dGgucW92ZXJ5LnNhbmRib3gvIiwiYXVkIjoiaHR0cHM6Ly9hcGkucW92ZXJ5"
    "LmNvbSIsImlhdCI6MTc1MDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ"
    ".c2FuZGJveC1zaWduYXR1cmUtbm90LXZlcmlmaWVkISE"
)
