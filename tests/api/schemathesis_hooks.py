"""Schemathesis hooks for thaw (loaded through SCHEMATHESIS_HOOKS by schemathesis_run.py).

/api/v1/mail/inbound takes the raw email as `message/rfc822`: send the generated text as is.
"""

import schemathesis

schemathesis.serializer.alias("message/rfc822", "text/plain")
