"""The model's numbers over HTTP: loss, gradient and its check, surfaces, gradients over time."""
