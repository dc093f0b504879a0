"""X's field and expansion vocabularies: every value a `*.fields` or `expansions` parameter may
name, in X's order (the order its "must be one of" messages list them in)."""

from __future__ import annotations

from collections.abc import Mapping

TWEET_FIELDS: tuple[str, ...] = (
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "media_metadata",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "text",
    "withheld",
)
USER_FIELDS: tuple[str, ...] = (
    "affiliation",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
)
MEDIA_FIELDS: tuple[str, ...] = (
    "alt_text",
    "duration_ms",
    "height",
    "media_key",
    "non_public_metrics",
    "organic_metrics",
    "preview_image_url",
    "promoted_metrics",
    "public_metrics",
    "type",
    "url",
    "variants",
    "width",
)
POLL_FIELDS: tuple[str, ...] = (
    "duration_minutes",
    "end_datetime",
    "id",
    "options",
    "voting_status",
)
PLACE_FIELDS: tuple[str, ...] = (
    "contained_within",
    "country",
    "country_code",
    "full_name",
    "geo",
    "id",
    "name",
    "place_type",
)
SEARCH_COUNT_FIELDS: tuple[str, ...] = ("end", "start", "tweet_count")
TWEET_EXPANSIONS: tuple[str, ...] = (
    "article.cover_media",
    "article.media_entities",
    "attachments.media_keys",
    "attachments.media_source_tweet",
    "attachments.poll_ids",
    "author_id",
    "edit_history_tweet_ids",
    "entities.mentions.username",
    "entities.note.mentions.username",
    "geo.place_id",
    "in_reply_to_user_id",
    "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys",
    "referenced_tweets.id.author_id",
)
USER_EXPANSIONS: tuple[str, ...] = (
    "affiliation.user_id",
    "most_recent_tweet_id",
    "pinned_tweet_id",
)

LIST_PARAMS: Mapping[str, tuple[str, ...]] = {
    "tweet.fields": TWEET_FIELDS,
    "user.fields": USER_FIELDS,
    "media.fields": MEDIA_FIELDS,
    "poll.fields": POLL_FIELDS,
    "place.fields": PLACE_FIELDS,
    "search_count.fields": SEARCH_COUNT_FIELDS,
}
