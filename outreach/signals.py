"""What outreach tells the apps above it (webhooks) about campaigns and scrape jobs.

Each signal is sent inside the transaction that makes the change, so a receiver that writes rows (a
webhook event) commits or rolls back with it. Keyword arguments:

- ``campaign_finished(campaign_id)``: a running campaign reached every recipient it could.
- ``campaign_paused(campaign_id)``: a running campaign was paused.
- ``scrape_finished(job_id, state)``: a scrape job ended (done, incomplete or failed).
"""

from __future__ import annotations

from django.dispatch import Signal

campaign_finished = Signal()
campaign_paused = Signal()
scrape_finished = Signal()
