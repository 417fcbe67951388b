// Placeholder until this benchmark lands; replace it then.
print("{}")
