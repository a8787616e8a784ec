#!/bin/sh
# Settings from mounted secret files: for each of DATABASE_URL, REDIS_URL and TILLPOINT_*,
# NAME_FILE=/run/secrets/x sets NAME to that file's contents (the official images' habit),
# so a password never has to stand in the compose file or in `docker inspect`.
set -eu
for variable in $(env | sed -n 's/^\(DATABASE_URL\|REDIS_URL\|TILLPOINT_[A-Z0-9_]*\)_FILE=.*/\1/p'); do
    file=$(printenv "${variable}_FILE")
    if [ ! -r "$file" ]; then
        echo "docker-entrypoint: ${variable}_FILE=$file is not a readable file" >&2
        exit 1
    fi
    value=$(cat "$file")
    export "$variable=$value"
    unset "${variable}_FILE"
done
exec "$@"
