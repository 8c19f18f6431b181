{{/*
dojo.deployment: the Deployment of one of the four plain services.
(dict "root" $ "component" "auth" "extraEnv" dict "volumes" list-of-(name,mountPath))
Readiness: grpc.health.v1 on the gRPC port (the gateway: GET /api/v1/health);
liveness and start-up: GET /healthz on the metrics port.
*/}}
{{- define "dojo.deployment" -}}
{{- $root := .root -}}
{{- $c := .component -}}
{{- $v := index $root.Values $c -}}
{{- $sel := dict "root" $root "component" $c -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "dojo.fullname" $root }}-{{ $c }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "dojo.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $c }}
spec:
  {{- if not (and (eq $c "gateway") $root.Values.gateway.hpa.enabled) }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "dojo.selector" $sel | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels:
        {{- include "dojo.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ $c }}
      annotations:
        {{- include "dojo.configChecksum" $root | nindent 8 }}
    spec:
      serviceAccountName: {{ include "dojo.fullname" $root }}
      automountServiceAccountToken: {{ $root.Values.serviceAccount.automountToken }}
      {{- with $root.Values.image.pullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $root.Values.hostNetwork }}
      hostNetwork: true
      dnsPolicy: ClusterFirstWithHostNet
      {{- end }}
      {{- with $root.Values.podRuntimeClassName }}
      runtimeClassName: {{ . }}
      {{- end }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- include "dojo.topologySpread" $sel | nindent 6 }}
      containers:
        - name: {{ $c }}
          image: {{ include "dojo.image" (dict "root" $root "name" $c) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          envFrom:
            {{- include "dojo.envFrom" $root | nindent 12 }}
          env:
            {{- include "dojo.env" (dict "root" $root "component" $c "extra" .extraEnv) | nindent 12 }}
          ports:
            - name: {{ ternary "http" "grpc" (eq $c "gateway") }}
              containerPort: {{ $v.port }}
            - name: metrics
              containerPort: {{ $v.metricsPort }}
          readinessProbe:
            {{- if eq $c "gateway" }}
            httpGet: {path: /api/v1/health, port: {{ $v.port }}}
            {{- else }}
            grpc: {port: {{ $v.port }}}
            {{- end }}
            periodSeconds: 5
            failureThreshold: 2
          livenessProbe:
            httpGet: {path: /healthz, port: {{ $v.metricsPort }}}
            periodSeconds: 10
            failureThreshold: 3
          startupProbe:
            httpGet: {path: /healthz, port: {{ $v.metricsPort }}}
            periodSeconds: 2
            failureThreshold: 60
          {{- if and (eq $c "gateway") (gt (int $v.preStopSleepSeconds) 0) }}
          lifecycle:
            preStop:
              sleep: {seconds: {{ $v.preStopSleepSeconds }}}
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            {{- range .volumes }}
            - {name: {{ .name }}, mountPath: {{ .mountPath }}}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {sizeLimit: 64Mi}
        {{- range .volumes }}
        - name: {{ .name }}
          emptyDir: {sizeLimit: {{ .size | default "64Mi" }}}
        {{- end }}
{{- end -}}
