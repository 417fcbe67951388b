enum _PlaceholderTests {}
