"""Luigi tasks of the style-transfer workflow; the logic lives in csci_utils and neural_style."""
