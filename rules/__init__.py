"""ostscan's verdict rules: one YAML file per rule. Installed as `scanner.builtin_rules`."""
