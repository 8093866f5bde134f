"""Training a model from example images: data, quick and full fits, metrics, reports."""
