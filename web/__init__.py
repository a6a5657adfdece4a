"""The HTTP edge: the GraphQL view and what guards it before GraphQL runs."""
