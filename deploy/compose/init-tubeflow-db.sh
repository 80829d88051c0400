#!/bin/sh
# tubeflow's own database and user next to Temporal's, on the first start of the PostgreSQL volume.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE USER tubeflow WITH PASSWORD '${APP_DB_PASSWORD}';
CREATE DATABASE tubeflow OWNER tubeflow;
SQL
