"""The tutorial's figures as PNG or SVG: drawn with matplotlib in a process of their own."""
