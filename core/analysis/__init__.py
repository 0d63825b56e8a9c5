"""5. analysis: clusters, maps and the like/dislike recommender over an index's vectors."""
