{{- define "stockade.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "stockade.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "stockade.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "stockade.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
The TLS Secret the server serves HTTPS with: server.tls.secretName, or, with the webhook on and
none given, the one the chart generates (webhook.yaml). Empty: plain HTTP.
*/}}
{{- define "stockade.tlsSecret" -}}
{{- if .Values.server.tls.secretName -}}
{{ .Values.server.tls.secretName }}
{{- else if .Values.admission.enabled -}}
{{ include "stockade.fullname" . }}-tls
{{- end -}}
{{- end -}}

{{/* The key of the TLS Secret holding the CA the agents verify the server with (empty: none). */}}
{{- define "stockade.tlsCAKey" -}}
{{- if .Values.server.tls.secretName -}}
{{ .Values.server.tls.caKey }}
{{- else if .Values.admission.enabled -}}
ca.crt
{{- end -}}
{{- end -}}

{{/* The server's Service URL, as the agents reach it. */}}
{{- define "stockade.serverURL" -}}
{{- $scheme := ternary "https" "http" (ne (include "stockade.tlsSecret" .) "") -}}
{{ $scheme }}://{{ include "stockade.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.server.port }}
{{- end -}}
