{{- /* Generated from app/src/shared/setting-rules.ts by `npm run settings:generate`: edit there, not here. */ -}}
{{/* The rules between settings, one problem a line, in the words of the service and the stack. */}}
{{- define "genesys-middleware-stack.settingRuleProblems" -}}
{{- if (and .Values.console.enabled (not .Values.console.issuerUrl)) }}
{{ "console.issuerUrl is required for the console: the identity provider's issuer URL, https" }}
{{- end }}
{{- if (and .Values.console.enabled (not .Values.console.clientId)) }}
{{ "console.clientId is required for the console: the client registered at the identity provider (its secret goes in the Secret)" }}
{{- end }}
{{- if (and .Values.console.enabled (not .Values.console.publicUrl)) }}
{{ "console.publicUrl is required for the console: its address as browsers see it (https://...), registered at the provider with /console/callback" }}
{{- end }}
{{- if (and .Values.console.enabled (not .Values.console.allowedGroups)) }}
{{ "console.allowedGroups is required for the console: the groups (or roles) allowed in; the console is never open to every signed-in user" }}
{{- end }}
{{- if (and .Values.leaderElection.enabled (ge (int .Values.leaderElection.renewDeadlineSeconds) (int .Values.leaderElection.leaseDurationSeconds))) }}
{{ "leaderElection.renewDeadlineSeconds must be shorter than leaderElection.leaseDurationSeconds: a leader must stop polling before another replica may take over" }}
{{- end }}
{{- if (and .Values.leaderElection.enabled (ge (int .Values.leaderElection.retryPeriodSeconds) (int .Values.leaderElection.renewDeadlineSeconds))) }}
{{ "leaderElection.retryPeriodSeconds must be shorter than leaderElection.renewDeadlineSeconds: several renewal attempts must fit in the deadline" }}
{{- end }}
{{- if (and .Values.export.listSnapshotIntervalSeconds .Values.export.listSnapshotDailyAt) }}
{{ "export.listSnapshotDailyAt must be unset while export.listSnapshotIntervalSeconds is above 0: contact-list snapshots run on one schedule, every interval or once a day, not both" }}
{{- end }}
{{- end }}
