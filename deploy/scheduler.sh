#!/usr/bin/env bash
# Deploy featmon as a Cloud Run job triggered every 5 minutes by Cloud Scheduler.
# Read it before running it: every command is explained. Needs gcloud, authenticated.
set -euo pipefail

PROJECT=${PROJECT:-nba-props-platform}   # where the job runs and BigQuery jobs are billed
REGION=${REGION:-us-west2}               # same region as the BigQuery datasets
SA=featmon@${PROJECT}.iam.gserviceaccount.com
IMAGE=${REGION}-docker.pkg.dev/${PROJECT}/featmon/featmon:0.1.0

# 1. The job's identity: reads the prediction tables, runs BigQuery jobs, writes its state
#    dataset, writes metrics and logs. Nothing else.
gcloud iam service-accounts create featmon --project "$PROJECT" --display-name "featmon"
for role in roles/bigquery.jobUser roles/monitoring.metricWriter roles/logging.logWriter; do
  # jobUser: create query jobs (billing project); metricWriter/logWriter: the sinks.
  gcloud projects add-iam-policy-binding "$PROJECT" --member "serviceAccount:$SA" --role "$role"
done
for dataset in nba_predictions nba_reference; do
  # dataViewer on the datasets holding the checked tables (and the write log).
  bq add-iam-policy-binding --member "serviceAccount:$SA" --role roles/bigquery.dataViewer \
    "${PROJECT}:${dataset}"
done
# The alert state dataset (created here so the job needs no project-wide create right).
bq --location "$REGION" mk --dataset "${PROJECT}:featmon_state" || true
bq add-iam-policy-binding --member "serviceAccount:$SA" --role roles/bigquery.dataEditor \
  "${PROJECT}:featmon_state"

# 2. Secrets: the Slack bot token and the config file (config.bigquery.yaml with your names).
printf '%s' "$SLACK_BOT_TOKEN" | gcloud secrets create featmon-slack-bot-token \
  --project "$PROJECT" --data-file=-          # read from your shell, never echoed
gcloud secrets create featmon-config --project "$PROJECT" --data-file=config.bigquery.yaml
for secret in featmon-slack-bot-token featmon-config; do
  gcloud secrets add-iam-policy-binding "$secret" --project "$PROJECT" \
    --member "serviceAccount:$SA" --role roles/secretmanager.secretAccessor
done

# 3. The image (built from the repository root) and the job.
gcloud artifacts repositories create featmon --project "$PROJECT" --location "$REGION" \
  --repository-format docker || true
gcloud builds submit --project "$PROJECT" --tag "$IMAGE" --config /dev/stdin . <<YAML
steps: [{name: gcr.io/cloud-builders/docker, args: [build, -f, deploy/Dockerfile, -t, $IMAGE, .]}]
images: [$IMAGE]
YAML
sed "s/PROJECT_ID/${PROJECT}/g" deploy/cloudrun-job.yaml > /tmp/featmon-job.yaml
gcloud run jobs replace /tmp/featmon-job.yaml --project "$PROJECT" --region "$REGION"

# 4. The trigger: Cloud Scheduler calls the Run Admin API to execute the job every 5 minutes
#    (the schedule is in America/New_York, the platform's game-date time zone). The
#    scheduler's identity needs run.invoker on the job: reuse the job's account.
gcloud run jobs add-iam-policy-binding featmon-check --project "$PROJECT" --region "$REGION" \
  --member "serviceAccount:$SA" --role roles/run.invoker
gcloud scheduler jobs create http featmon-every-5-minutes --project "$PROJECT" \
  --location "$REGION" --schedule "*/5 * * * *" --time-zone "America/New_York" \
  --http-method POST \
  --uri "https://run.googleapis.com/v2/projects/${PROJECT}/locations/${REGION}/jobs/featmon-check:run" \
  --oauth-service-account-email "$SA"

# 5. The backstop alert policies and the dashboard.
for policy in deploy/alert-policies/*.json; do
  gcloud alpha monitoring policies create --project "$PROJECT" --policy-from-file "$policy"
done
gcloud monitoring dashboards create --project "$PROJECT" --config-from-file deploy/dashboard.json
