-- wrk script: POST the JSON in $BODY to the path given on the command line.
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
