"""The partner API: JSON under /api/v1/ for partners' servers (merchants and embed sessions)."""
