-- What the classification tier concluded about each message (needle_core::Classification as
-- JSON: lang, sentiment, intents, entities). NULL for messages stored before classification.
ALTER TABLE messages ADD COLUMN classification TEXT;
