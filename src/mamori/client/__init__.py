"""The scan client's side of the server API (/api/v1): uploads and risk acceptances."""
