{{/* Chart name, truncated to 63 characters (the DNS label limit). */}}
{{- define "genesys-middleware-stack.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart, unless the release name already contains the chart name. */}}
{{- define "genesys-middleware-stack.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "genesys-middleware-stack.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "genesys-middleware-stack.labels" -}}
helm.sh/chart: {{ include "genesys-middleware-stack.chart" . }}
{{ include "genesys-middleware-stack.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: genesys-middleware-stack
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels: only name and instance, so they never change across upgrades. */}}
{{- define "genesys-middleware-stack.selectorLabels" -}}
app.kubernetes.io/name: {{ include "genesys-middleware-stack.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "genesys-middleware-stack.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "genesys-middleware-stack.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is pinned. */}}
{{- define "genesys-middleware-stack.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end }}

{{/* "configMap" or "secret" when extraCaCerts names one, else empty. */}}
{{- define "genesys-middleware-stack.extraCaSource" -}}
{{- if .Values.extraCaCerts.configMap.name -}}
configMap
{{- else if .Values.extraCaCerts.secret.name -}}
secret
{{- end -}}
{{- end }}

{{/* Where the extra CA bundle is mounted, read-only; NODE_EXTRA_CA_CERTS points at the file. */}}
{{- define "genesys-middleware-stack.extraCaDir" -}}
/etc/genesys-sync/ca
{{- end }}

{{- define "genesys-middleware-stack.extraCaFileName" -}}
ca.crt
{{- end }}

{{- define "genesys-middleware-stack.extraCaFile" -}}
{{- printf "%s/%s" (include "genesys-middleware-stack.extraCaDir" .) (include "genesys-middleware-stack.extraCaFileName" .) -}}
{{- end }}

{{/* The ConfigMap holding the import routes (routes.json), when `routes` lists any. */}}
{{- define "genesys-middleware-stack.routesConfigMapName" -}}
{{- printf "%s-routes" (include "genesys-middleware-stack.fullname" .) -}}
{{- end }}

{{/* Where the routes are mounted, read-only; IMPORT_ROUTES_FILE points the service at the file. */}}
{{- define "genesys-middleware-stack.routesDir" -}}
/etc/genesys-sync/routes
{{- end }}

{{- define "genesys-middleware-stack.routesFileName" -}}
routes.json
{{- end }}

{{- define "genesys-middleware-stack.routesFile" -}}
{{- printf "%s/%s" (include "genesys-middleware-stack.routesDir" .) (include "genesys-middleware-stack.routesFileName" .) -}}
{{- end }}

{{/*
What the schema cannot say about the routes, one problem a line, in the words of routeSetProblems
(app/src/shared/routes.ts), which the stack and the service use: a route name used twice.
*/}}
{{- define "genesys-middleware-stack.routeProblems" -}}
{{- $first := dict -}}
{{- range $index, $route := .Values.routes -}}
{{- $name := toString $route.name -}}
{{- if hasKey $first $name }}
{{ printf "routes[%d].name %q is also the name of routes[%d]: route names are folders, one each" $index $name (get $first $name) }}
{{- else -}}
{{- $_ := set $first $name $index -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
Fails the render on combinations that cannot work, with a message that names the fix.
The schema catches wrong types and unknown keys; this catches what depends on several values.
*/}}
{{- define "genesys-middleware-stack.validateValues" -}}
{{- $errors := list -}}
{{- $values := toJson .Values -}}
{{- if regexMatch "(?i)\"(client_?secret|webhook_?password|password|access_?token|token_?secret)\"\\s*:" $values -}}
{{- $errors = append $errors (printf "a secret was set in the chart values. Secrets never go in values (they end up in the release history and in Git): put the client secret in the Kubernetes Secret named by existingSecret.name, under the key existingSecret.clientSecretKey (here %s / %s)" .Values.existingSecret.name .Values.existingSecret.clientSecretKey) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- $errors = append $errors (printf "autoscaling.minReplicas (%d) is greater than autoscaling.maxReplicas (%d): raise maxReplicas or lower minReplicas" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.tls) -}}
{{- $errors = append $errors "ingress.enabled is true but ingress.tls is empty: the console's session cookie is Secure and the webhook carries Basic credentials, so TLS is required; add a tls entry with secretName and hosts" -}}
{{- end -}}
{{- if .Values.ingress.enabled -}}
{{- if not .Values.ingress.hosts -}}
{{- $errors = append $errors "ingress.enabled is true but ingress.hosts is empty: add at least one host" -}}
{{- end -}}
{{- range .Values.ingress.tls -}}
{{- if not .hosts -}}
{{- $errors = append $errors (printf "ingress.tls entry %q has no hosts: list the hosts its certificate covers" (.secretName | default "(no secretName)")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Values.httpRoute.enabled (not .Values.httpRoute.parentRefs) -}}
{{- $errors = append $errors "httpRoute.enabled is true but httpRoute.parentRefs is empty: name the Gateway (and its HTTPS listener) to attach to" -}}
{{- end -}}
{{- if not .Values.persistence.existingClaim -}}
{{- $errors = append $errors "persistence.existingClaim is empty: the service needs the shared ReadWriteMany claim (the Pulumi program creates it; helm-only users create it first, see the chart README)" -}}
{{- end -}}
{{- if ge (int .Values.shutdownGraceSeconds) (int .Values.terminationGracePeriodSeconds) -}}
{{- $errors = append $errors (printf "shutdownGraceSeconds (%d) must be shorter than terminationGracePeriodSeconds (%d), or the kubelet kills the pod before it has checkpointed" (int .Values.shutdownGraceSeconds) (int .Values.terminationGracePeriodSeconds)) -}}
{{- end -}}
{{- if and (not .Values.genesys.region) (or (not .Values.genesys.apiBaseUrl) (not .Values.genesys.loginBaseUrl)) -}}
{{- $errors = append $errors "set genesys.region (for example eu-west-1), or both genesys.apiBaseUrl and genesys.loginBaseUrl" -}}
{{- end -}}
{{- range splitList "\n" (include "genesys-middleware-stack.settingRuleProblems" .) -}}
{{- if . -}}
{{- $errors = append $errors . -}}
{{- end -}}
{{- end -}}
{{- range splitList "\n" (include "genesys-middleware-stack.routeProblems" .) -}}
{{- if . -}}
{{- $errors = append $errors . -}}
{{- end -}}
{{- end -}}
{{- if and (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) .Values.export.enabled (not .Values.leaderElection.enabled) -}}
{{- $errors = append $errors "several replicas (replicaCount above 1 or autoscaling) with export.enabled and leaderElection.enabled false: every replica would poll and write the same results; enable leaderElection, or run one replica" -}}
{{- end -}}
{{- if and .Values.extraCaCerts.configMap.name .Values.extraCaCerts.secret.name -}}
{{- $errors = append $errors "extraCaCerts names both a configMap and a secret: NODE_EXTRA_CA_CERTS reads one file, so keep one (put every extra CA in one PEM bundle)" -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nVALUES VALIDATION:\n- %s\n" (join "\n- " $errors)) -}}
{{- end -}}
{{- end }}
