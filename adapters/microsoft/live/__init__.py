"""The live Microsoft backend: Partner Center and Microsoft Graph over httpx, app-only
tokens from msal, behind the same `MicrosoftPartner` port as the sandbox.

tokens.py          the partner app's tokens (shared with Graph mail)
http.py            one client per service: retries, Retry-After, a time budget, request ids
errors.py          Microsoft's refusals as sentences a partner engineer can act on
graph.py           GDAP relationships, access assignments, tenants, groups
partner_center.py  customers, transfers, the reseller link, the webhook registration
mapping.py         Microsoft's JSON to the port's records (pure)
backend.py         `LiveMicrosoft`, the port
webhooks.py        verifying a Partner Center callback and reading the event in it
registration.py    `python app.py webhooks register URL`
partner_link.py    `python app.py partner-link`
doctor.py          `python app.py doctor`
"""
