-- The schema Base.metadata.create_all made before migrations existed (main at 6e07393, all model
-- modules imported; SQLite). Frozen: tests/test_migrations.py upgrades a database built from it.
CREATE TABLE channels (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	niche VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	settings JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
CREATE TABLE api_keys (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	last_used_at DATETIME, 
	revoked BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (key_hash)
);
CREATE TABLE events (
	id INTEGER NOT NULL, 
	production_id VARCHAR(32), 
	kind VARCHAR(32) NOT NULL, 
	payload JSON NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE knowledge_facts (
	id INTEGER NOT NULL, 
	niche VARCHAR(64) NOT NULL, 
	channel VARCHAR(128), 
	claim TEXT NOT NULL, 
	claim_key VARCHAR(64) NOT NULL, 
	source TEXT NOT NULL, 
	origin VARCHAR(32) NOT NULL, 
	topic VARCHAR(300) NOT NULL, 
	language VARCHAR(16) NOT NULL, 
	confidence FLOAT NOT NULL, 
	first_seen DATETIME NOT NULL, 
	last_seen DATETIME NOT NULL, 
	expires_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE VIRTUAL TABLE knowledge_facts_fts USING fts5(claim, topic, content='knowledge_facts', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE knowledge_learnings (
	id INTEGER NOT NULL, 
	niche VARCHAR(64) NOT NULL, 
	channel VARCHAR(128), 
	text TEXT NOT NULL, 
	origin VARCHAR(64) NOT NULL, 
	weight FLOAT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE knowledge_coverage (
	id INTEGER NOT NULL, 
	channel VARCHAR(128) NOT NULL, 
	niche VARCHAR(64) NOT NULL, 
	topic VARCHAR(300) NOT NULL, 
	angle VARCHAR(300) NOT NULL, 
	production_id VARCHAR(64) NOT NULL, 
	published_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE knowledge_outcomes (
	id INTEGER NOT NULL, 
	production_id VARCHAR(64) NOT NULL, 
	channel VARCHAR(128) NOT NULL, 
	niche VARCHAR(64) NOT NULL, 
	result VARCHAR(64) NOT NULL, 
	detail TEXT NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE gpu_usage (
	id INTEGER NOT NULL, 
	provider VARCHAR(32) NOT NULL, 
	instance_id VARCHAR(128) NOT NULL, 
	workflow_id VARCHAR(256) NOT NULL, 
	production_id VARCHAR(128) NOT NULL, 
	day VARCHAR(10) NOT NULL, 
	seconds FLOAT NOT NULL, 
	price_per_hour FLOAT NOT NULL, 
	cost_usd FLOAT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_gpu_usage_instance_workflow_day UNIQUE (instance_id, workflow_id, day)
);
CREATE TABLE productions (
	id VARCHAR(32) NOT NULL, 
	channel_id INTEGER NOT NULL, 
	topic TEXT NOT NULL, 
	niche VARCHAR(64) NOT NULL, 
	workflow_id VARCHAR(200) NOT NULL, 
	run_id VARCHAR(200) NOT NULL, 
	stage VARCHAR(32) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	progress FLOAT NOT NULL, 
	checkpoint VARCHAR(32), 
	detail TEXT NOT NULL, 
	title TEXT NOT NULL, 
	error TEXT, 
	artifacts JSON NOT NULL, 
	outputs JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	snapshot_at DATETIME, 
	cost_usd FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(channel_id) REFERENCES channels (id) ON DELETE RESTRICT
);
CREATE TABLE reviews (
	id INTEGER NOT NULL, 
	production_id VARCHAR(32) NOT NULL, 
	stage VARCHAR(32) NOT NULL, 
	approved BOOLEAN NOT NULL, 
	reviewer VARCHAR(200) NOT NULL, 
	feedback TEXT NOT NULL, 
	attempt INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	note TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_reviews_decision UNIQUE (production_id, stage, attempt, at), 
	FOREIGN KEY(production_id) REFERENCES productions (id) ON DELETE CASCADE
);
CREATE TABLE assets (
	id INTEGER NOT NULL, 
	production_id VARCHAR(32) NOT NULL, 
	kind VARCHAR(64) NOT NULL, 
	"key" VARCHAR(1024) NOT NULL, 
	created_at DATETIME NOT NULL, 
	meta JSON NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_assets_production_key UNIQUE (production_id, "key"), 
	FOREIGN KEY(production_id) REFERENCES productions (id) ON DELETE CASCADE
);
CREATE INDEX ix_events_at ON events (at);
CREATE INDEX ix_events_production_id_id ON events (production_id, id);
CREATE INDEX ix_knowledge_facts_niche ON knowledge_facts (niche);
CREATE INDEX knowledge_facts_niche_key ON knowledge_facts (niche, claim_key);
CREATE INDEX ix_knowledge_facts_claim_key ON knowledge_facts (claim_key);
CREATE INDEX ix_knowledge_learnings_niche ON knowledge_learnings (niche);
CREATE INDEX knowledge_learnings_scope ON knowledge_learnings (niche, channel);
CREATE INDEX ix_knowledge_coverage_channel ON knowledge_coverage (channel);
CREATE INDEX ix_knowledge_outcomes_production_id ON knowledge_outcomes (production_id);
CREATE INDEX ix_gpu_usage_production ON gpu_usage (production_id);
CREATE INDEX ix_gpu_usage_day ON gpu_usage (day);
CREATE INDEX ix_productions_channel_id ON productions (channel_id);
CREATE INDEX ix_productions_created_at ON productions (created_at);
CREATE INDEX ix_productions_stage ON productions (stage);
CREATE INDEX ix_productions_state ON productions (state);
CREATE INDEX ix_reviews_production_id ON reviews (production_id);
CREATE INDEX ix_assets_production_id ON assets (production_id);
CREATE TRIGGER knowledge_facts_ai AFTER INSERT ON knowledge_facts BEGIN INSERT INTO knowledge_facts_fts(rowid, claim, topic) VALUES (new.id, new.claim, new.topic); END;
CREATE TRIGGER knowledge_facts_ad AFTER DELETE ON knowledge_facts BEGIN INSERT INTO knowledge_facts_fts(knowledge_facts_fts, rowid, claim, topic) VALUES ('delete', old.id, old.claim, old.topic); END;
CREATE TRIGGER knowledge_facts_au AFTER UPDATE OF claim, topic ON knowledge_facts BEGIN INSERT INTO knowledge_facts_fts(knowledge_facts_fts, rowid, claim, topic) VALUES ('delete', old.id, old.claim, old.topic); INSERT INTO knowledge_facts_fts(rowid, claim, topic) VALUES (new.id, new.claim, new.topic); END;
