"""The web console: server-rendered Jinja2 pages, HTMX for partial updates, no build step."""
