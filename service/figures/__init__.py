"""The tutorial's figures as PNG or SVG: drawn with matplotlib, rendered in a process of their own."""
