-- The schema Base.metadata.create_all made before migrations existed (main at 6e07393, all model
-- modules imported; PostgreSQL 15, pg_dump --schema-only). Frozen: tests/test_migrations.py upgrades a database built from it.

CREATE TABLE public.api_keys (
    id integer NOT NULL,
    name character varying(200) NOT NULL,
    role character varying(16) NOT NULL,
    key_hash character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_used_at timestamp with time zone,
    revoked boolean NOT NULL
);

CREATE SEQUENCE public.api_keys_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.api_keys_id_seq OWNED BY public.api_keys.id;

CREATE TABLE public.assets (
    id integer NOT NULL,
    production_id character varying(32) NOT NULL,
    kind character varying(64) NOT NULL,
    key character varying(1024) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    meta jsonb NOT NULL
);

CREATE SEQUENCE public.assets_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.assets_id_seq OWNED BY public.assets.id;

CREATE TABLE public.channels (
    id integer NOT NULL,
    name character varying(100) NOT NULL,
    niche character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    settings jsonb NOT NULL
);

CREATE SEQUENCE public.channels_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.channels_id_seq OWNED BY public.channels.id;

CREATE TABLE public.events (
    id integer NOT NULL,
    production_id character varying(32),
    kind character varying(32) NOT NULL,
    payload jsonb NOT NULL,
    at timestamp with time zone NOT NULL
);

CREATE SEQUENCE public.events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.events_id_seq OWNED BY public.events.id;

CREATE TABLE public.gpu_usage (
    id integer NOT NULL,
    provider character varying(32) NOT NULL,
    instance_id character varying(128) NOT NULL,
    workflow_id character varying(256) NOT NULL,
    production_id character varying(128) NOT NULL,
    day character varying(10) NOT NULL,
    seconds double precision NOT NULL,
    price_per_hour double precision NOT NULL,
    cost_usd double precision NOT NULL,
    updated_at timestamp with time zone NOT NULL
);

CREATE SEQUENCE public.gpu_usage_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.gpu_usage_id_seq OWNED BY public.gpu_usage.id;

CREATE TABLE public.knowledge_coverage (
    id integer NOT NULL,
    channel character varying(128) NOT NULL,
    niche character varying(64) NOT NULL,
    topic character varying(300) NOT NULL,
    angle character varying(300) NOT NULL,
    production_id character varying(64) NOT NULL,
    published_at timestamp with time zone NOT NULL
);

CREATE SEQUENCE public.knowledge_coverage_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.knowledge_coverage_id_seq OWNED BY public.knowledge_coverage.id;

CREATE TABLE public.knowledge_facts (
    id integer NOT NULL,
    niche character varying(64) NOT NULL,
    channel character varying(128),
    claim text NOT NULL,
    claim_key character varying(64) NOT NULL,
    source text NOT NULL,
    origin character varying(32) NOT NULL,
    topic character varying(300) NOT NULL,
    language character varying(16) NOT NULL,
    confidence double precision NOT NULL,
    first_seen timestamp with time zone NOT NULL,
    last_seen timestamp with time zone NOT NULL,
    expires_at timestamp with time zone
);

CREATE SEQUENCE public.knowledge_facts_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.knowledge_facts_id_seq OWNED BY public.knowledge_facts.id;

CREATE TABLE public.knowledge_learnings (
    id integer NOT NULL,
    niche character varying(64) NOT NULL,
    channel character varying(128),
    text text NOT NULL,
    origin character varying(64) NOT NULL,
    weight double precision NOT NULL,
    created_at timestamp with time zone NOT NULL
);

CREATE SEQUENCE public.knowledge_learnings_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.knowledge_learnings_id_seq OWNED BY public.knowledge_learnings.id;

CREATE TABLE public.knowledge_outcomes (
    id integer NOT NULL,
    production_id character varying(64) NOT NULL,
    channel character varying(128) NOT NULL,
    niche character varying(64) NOT NULL,
    result character varying(64) NOT NULL,
    detail text NOT NULL,
    recorded_at timestamp with time zone NOT NULL
);

CREATE SEQUENCE public.knowledge_outcomes_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.knowledge_outcomes_id_seq OWNED BY public.knowledge_outcomes.id;

CREATE TABLE public.productions (
    id character varying(32) NOT NULL,
    channel_id integer NOT NULL,
    topic text NOT NULL,
    niche character varying(64) NOT NULL,
    workflow_id character varying(200) NOT NULL,
    run_id character varying(200) NOT NULL,
    stage character varying(32) NOT NULL,
    state character varying(16) NOT NULL,
    progress double precision NOT NULL,
    checkpoint character varying(32),
    detail text NOT NULL,
    title text NOT NULL,
    error text,
    artifacts jsonb NOT NULL,
    outputs jsonb NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    snapshot_at timestamp with time zone,
    cost_usd double precision NOT NULL
);

CREATE TABLE public.reviews (
    id integer NOT NULL,
    production_id character varying(32) NOT NULL,
    stage character varying(32) NOT NULL,
    approved boolean NOT NULL,
    reviewer character varying(200) NOT NULL,
    feedback text NOT NULL,
    attempt integer NOT NULL,
    at timestamp with time zone NOT NULL,
    note text NOT NULL
);

CREATE SEQUENCE public.reviews_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.reviews_id_seq OWNED BY public.reviews.id;

ALTER TABLE ONLY public.api_keys ALTER COLUMN id SET DEFAULT nextval('public.api_keys_id_seq'::regclass);

ALTER TABLE ONLY public.assets ALTER COLUMN id SET DEFAULT nextval('public.assets_id_seq'::regclass);

ALTER TABLE ONLY public.channels ALTER COLUMN id SET DEFAULT nextval('public.channels_id_seq'::regclass);

ALTER TABLE ONLY public.events ALTER COLUMN id SET DEFAULT nextval('public.events_id_seq'::regclass);

ALTER TABLE ONLY public.gpu_usage ALTER COLUMN id SET DEFAULT nextval('public.gpu_usage_id_seq'::regclass);

ALTER TABLE ONLY public.knowledge_coverage ALTER COLUMN id SET DEFAULT nextval('public.knowledge_coverage_id_seq'::regclass);

ALTER TABLE ONLY public.knowledge_facts ALTER COLUMN id SET DEFAULT nextval('public.knowledge_facts_id_seq'::regclass);

ALTER TABLE ONLY public.knowledge_learnings ALTER COLUMN id SET DEFAULT nextval('public.knowledge_learnings_id_seq'::regclass);

ALTER TABLE ONLY public.knowledge_outcomes ALTER COLUMN id SET DEFAULT nextval('public.knowledge_outcomes_id_seq'::regclass);

ALTER TABLE ONLY public.reviews ALTER COLUMN id SET DEFAULT nextval('public.reviews_id_seq'::regclass);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.assets
    ADD CONSTRAINT assets_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_name_key UNIQUE (name);

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.gpu_usage
    ADD CONSTRAINT gpu_usage_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.knowledge_coverage
    ADD CONSTRAINT knowledge_coverage_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.knowledge_facts
    ADD CONSTRAINT knowledge_facts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.knowledge_learnings
    ADD CONSTRAINT knowledge_learnings_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.knowledge_outcomes
    ADD CONSTRAINT knowledge_outcomes_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.productions
    ADD CONSTRAINT productions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.reviews
    ADD CONSTRAINT reviews_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.assets
    ADD CONSTRAINT uq_assets_production_key UNIQUE (production_id, key);

ALTER TABLE ONLY public.gpu_usage
    ADD CONSTRAINT uq_gpu_usage_instance_workflow_day UNIQUE (instance_id, workflow_id, day);

ALTER TABLE ONLY public.reviews
    ADD CONSTRAINT uq_reviews_decision UNIQUE (production_id, stage, attempt, at);

CREATE INDEX ix_assets_production_id ON public.assets USING btree (production_id);

CREATE INDEX ix_events_at ON public.events USING btree (at);

CREATE INDEX ix_events_production_id_id ON public.events USING btree (production_id, id);

CREATE INDEX ix_gpu_usage_day ON public.gpu_usage USING btree (day);

CREATE INDEX ix_gpu_usage_production ON public.gpu_usage USING btree (production_id);

CREATE INDEX ix_knowledge_coverage_channel ON public.knowledge_coverage USING btree (channel);

CREATE INDEX ix_knowledge_facts_claim_key ON public.knowledge_facts USING btree (claim_key);

CREATE INDEX ix_knowledge_facts_niche ON public.knowledge_facts USING btree (niche);

CREATE INDEX ix_knowledge_learnings_niche ON public.knowledge_learnings USING btree (niche);

CREATE INDEX ix_knowledge_outcomes_production_id ON public.knowledge_outcomes USING btree (production_id);

CREATE INDEX ix_productions_channel_id ON public.productions USING btree (channel_id);

CREATE INDEX ix_productions_created_at ON public.productions USING btree (created_at);

CREATE INDEX ix_productions_stage ON public.productions USING btree (stage);

CREATE INDEX ix_productions_state ON public.productions USING btree (state);

CREATE INDEX ix_reviews_production_id ON public.reviews USING btree (production_id);

CREATE INDEX knowledge_facts_fts_idx ON public.knowledge_facts USING gin (to_tsvector('simple'::regconfig, ((claim || ' '::text) || (topic)::text)));

CREATE INDEX knowledge_facts_niche_key ON public.knowledge_facts USING btree (niche, claim_key);

CREATE INDEX knowledge_learnings_scope ON public.knowledge_learnings USING btree (niche, channel);

ALTER TABLE ONLY public.assets
    ADD CONSTRAINT assets_production_id_fkey FOREIGN KEY (production_id) REFERENCES public.productions(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.productions
    ADD CONSTRAINT productions_channel_id_fkey FOREIGN KEY (channel_id) REFERENCES public.channels(id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.reviews
    ADD CONSTRAINT reviews_production_id_fkey FOREIGN KEY (production_id) REFERENCES public.productions(id) ON DELETE CASCADE;

