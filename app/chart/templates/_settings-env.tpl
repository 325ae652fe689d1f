{{- /* Generated from app/src/shared/settings.ts by `npm run settings:generate`: edit there, not here. */ -}}
{{/* The env entries from the Secret (existingSecret) and from the pod itself; the ConfigMap carries the rest. */}}
{{- define "genesys-middleware-stack.settingsEnv" -}}
- name: GENESYS_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret.name }}
      key: {{ .Values.existingSecret.clientSecretKey }}
- name: WEBHOOK_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret.name }}
      key: {{ .Values.existingSecret.webhookUsernameKey }}
      optional: true
- name: WEBHOOK_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret.name }}
      key: {{ .Values.existingSecret.webhookPasswordKey }}
      optional: true
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- if .Values.console.enabled }}
- name: OIDC_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret.name }}
      key: {{ .Values.existingSecret.oidcClientSecretKey }}
- name: CONSOLE_SESSION_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret.name }}
      key: {{ .Values.existingSecret.consoleSessionSecretKey }}
{{- end }}
{{- end }}
