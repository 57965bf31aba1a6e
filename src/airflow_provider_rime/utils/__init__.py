"""Small helpers of the provider half: data-source resolution and content digests of files."""
