"""The five axes a price is explained along, and the model inputs each one reads.

Declared once here; the model's input widths, the features' outputs, the baselines' design and
the synthetic city's ground truth all derive from this module.
"""

# The axes in their fixed order (model outputs, breakdown columns, the synthetic city's truth).
AXES = ("location", "size_capacity", "quality_reputation", "amenities", "seasonality")
