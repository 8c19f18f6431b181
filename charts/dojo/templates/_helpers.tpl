{{/* Names, labels, addresses and the pieces every workload shares. */}}

{{- define "dojo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dojo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains (include "dojo.name" .) .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "dojo.name" .) | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dojo.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion -}}
{{- end -}}

{{/* dojo.image (dict "root" $ "name" "gateway") */}}
{{- define "dojo.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .name (include "dojo.tag" .root) -}}
{{- end -}}

{{- define "dojo.labels" -}}
app.kubernetes.io/name: {{ include "dojo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "dojo.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dojo
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* dojo.selector (dict "root" $ "component" "gateway") */}}
{{- define "dojo.selector" -}}
app.kubernetes.io/name: {{ include "dojo.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "dojo.executorNamespace" -}}
{{- .Values.executor.namespace | default .Release.Namespace -}}
{{- end -}}

{{/* The namespace a component lives in: (dict "root" $ "component" "executor") */}}
{{- define "dojo.namespaceOf" -}}
{{- if eq .component "executor" -}}{{ include "dojo.executorNamespace" .root }}{{- else -}}{{ .root.Release.Namespace }}{{- end -}}
{{- end -}}

{{/* host:port at which the others reach component: (dict "root" $ "component" "auth") */}}
{{- define "dojo.addr" -}}
{{- $port := index .root.Values .component "port" -}}
{{- if .root.Values.hostNetwork -}}
{{- printf "127.0.0.1:%v" $port -}}
{{- else -}}
{{- printf "%s-%s.%s.svc.%s:%v" (include "dojo.fullname" .root) .component (include "dojo.namespaceOf" .) .root.Values.clusterDomain $port -}}
{{- end -}}
{{- end -}}

{{/* Where component listens: every interface in a pod, loopback on the host network. */}}
{{- define "dojo.listen" -}}
{{- printf "%s:%v" (ternary "127.0.0.1" "0.0.0.0" .root.Values.hostNetwork) .port -}}
{{- end -}}

{{- define "dojo.redisAddr" -}}
{{- if .Values.redis.external.url -}}
{{- $u := .Values.redis.external.url | trimPrefix "redis://" | trimSuffix "/" -}}
{{- if contains "@" $u -}}{{- fail "redis.external.url: Dojo's services do not support Redis passwords yet; give host:port" -}}{{- end -}}
{{- if hasPrefix "rediss://" $u -}}{{- fail "redis.external.url: Dojo's services do not support Redis over TLS yet" -}}{{- end -}}
{{- $u -}}
{{- else if .Values.hostNetwork -}}
{{- print "127.0.0.1:6379" -}}
{{- else -}}
{{- printf "%s-redis.%s.svc.%s:6379" (include "dojo.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}
{{- end -}}

{{- define "dojo.redisPort" -}}
{{- $hp := include "dojo.redisAddr" . | splitList ":" -}}
{{- last $hp -}}
{{- end -}}

{{- define "dojo.publicUrl" -}}
{{- if .Values.config.publicUrl -}}{{ .Values.config.publicUrl }}
{{- else if .Values.ingress.enabled -}}{{ printf "%s://%s" (ternary "https" "http" (ne .Values.ingress.tlsSecretName "")) .Values.ingress.host }}
{{- else -}}{{ printf "http://%s" (include "dojo.addr" (dict "root" . "component" "gateway")) }}
{{- end -}}
{{- end -}}

{{- define "dojo.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "dojo.fullname" .)) -}}
{{- end -}}

{{- define "dojo.configName" -}}
{{- printf "%s-config" (include "dojo.fullname" .) -}}
{{- end -}}

{{/*
The generated secrets, once per render (both namespaces get the same service
key), kept from the Secret already in the cluster on upgrades (lookup).
*/}}
{{- define "dojo.secretValues" -}}
{{- if not (hasKey .Values "_dojoSecrets") -}}
{{- $old := (lookup "v1" "Secret" .Release.Namespace (include "dojo.secretName" .)) | default dict -}}
{{- $d := get $old "data" | default dict -}}
{{- $pgPassword := get $d "POSTGRES_PASSWORD" | b64dec | default (randAlphaNum 32) -}}
{{- $pgUrl := .Values.postgresql.external.url -}}
{{- if not $pgUrl -}}
{{- $host := ternary "127.0.0.1" (printf "%s-postgresql.%s.svc.%s" (include "dojo.fullname" .) .Release.Namespace .Values.clusterDomain) .Values.hostNetwork -}}
{{- $pgUrl = printf "postgresql://dojo:%s@%s:5432/dojo" $pgPassword $host -}}
{{- end -}}
{{- $_ := set .Values "_dojoSecrets" (dict
    "DOJO_SERVICE_KEY" (.Values.secrets.serviceKey | default (get $d "DOJO_SERVICE_KEY" | b64dec) | default (randAlphaNum 64))
    "DOJO_AUTH_MASTER_KEY" (.Values.secrets.authMasterKey | default (get $d "DOJO_AUTH_MASTER_KEY" | b64dec) | default (randBytes 32))
    "DOJO_PG_URL" $pgUrl
    "POSTGRES_PASSWORD" $pgPassword) -}}
{{- end -}}
{{- end -}}

{{/* Common environment: the ConfigMap and Secret, then the pod's own name. */}}
{{- define "dojo.envFrom" -}}
- configMapRef:
    name: {{ include "dojo.configName" . }}
- secretRef:
    name: {{ include "dojo.secretName" . }}
{{- end -}}

{{/* The environment variables of component (dict "root" $ "component" "auth" "extra" dict) */}}
{{- define "dojo.env" -}}
{{- $v := index .root.Values .component -}}
- name: {{ printf "DOJO_%s_ADDR" (upper .component) }}
  value: {{ include "dojo.listen" (dict "root" .root "port" $v.port) | quote }}
- name: {{ printf "DOJO_%s_METRICS_ADDR" (upper .component) }}
  value: {{ include "dojo.listen" (dict "root" .root "port" $v.metricsPort) | quote }}
{{- range $k, $val := .extra }}
- name: {{ $k }}
  value: {{ $val | quote }}
{{- end }}
{{- range $k, $val := $v.env }}
- name: {{ $k }}
  value: {{ $val | quote }}
{{- end }}
{{- end -}}

{{- define "dojo.topologySpread" -}}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: {{ .root.Values.topologySpread.maxSkew }}
    topologyKey: {{ .root.Values.topologySpread.topologyKey }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "dojo.selector" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/* Checksums that roll pods when their configuration changes. */}}
{{- define "dojo.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/config.yaml") . | sha256sum | trunc 16 }}
{{- end -}}

{{/*
dojo.cpuCores: a Kubernetes CPU quantity ("100m", "1.5", 2) in whole CPUs,
rounded up, at least 1.
*/}}
{{- define "dojo.cpuCores" -}}
{{- $q := toString . -}}
{{- $cpu := 0.0 -}}
{{- if hasSuffix "m" $q -}}
{{- $cpu = divf (float64 (trimSuffix "m" $q)) 1000 -}}
{{- else -}}
{{- $cpu = float64 $q -}}
{{- end -}}
{{- max 1 (int (ceil $cpu)) -}}
{{- end -}}

{{/*
dojo.memoryKiB: a Kubernetes memory quantity ("256Mi", "1G", 268435456) in KiB.
*/}}
{{- define "dojo.memoryKiB" -}}
{{- $q := toString . -}}
{{- $kib := 0.0 -}}
{{- $found := false -}}
{{- range $u := list (list "Ki" 1.0) (list "Mi" 1024.0) (list "Gi" 1048576.0) (list "Ti" 1073741824.0) (list "k" 0.9765625) (list "M" 976.5625) (list "G" 976562.5) (list "T" 976562500.0) -}}
{{- if and (not $found) (hasSuffix (index $u 0) $q) -}}
{{- $kib = mulf (float64 (trimSuffix (index $u 0) $q)) (index $u 1) -}}
{{- $found = true -}}
{{- end -}}
{{- end -}}
{{- if not $found -}}
{{- $kib = divf (float64 $q) 1024 -}}
{{- end -}}
{{- int (ceil $kib) -}}
{{- end -}}

{{/*
dojo.authHashConcurrency: the password hashes auth runs at once
(DOJO_AUTH_HASH_CONCURRENCY, docs/operators.md#auth) — auth.env's value when
set, else the whole CPUs of auth's CPU limit, else of its request (a pod sees
its node's cores, not its own share, so auth cannot tell by itself). The
render fails when that many hashes of DOJO_AUTH_ARGON2_MEM_KIB each, plus
64Mi for the rest of the process, exceed auth's memory limit: past it the
kernel would kill auth in the middle of a sign-up burst.
*/}}
{{- define "dojo.authHashConcurrency" -}}
{{- $v := .Values.auth -}}
{{- $env := $v.env | default dict -}}
{{- $res := $v.resources | default dict -}}
{{- $limits := $res.limits | default dict -}}
{{- $requests := $res.requests | default dict -}}
{{- $hashes := 1 -}}
{{- $from := "auth's CPU" -}}
{{- if hasKey $env "DOJO_AUTH_HASH_CONCURRENCY" -}}
{{- $hashes = int (index $env "DOJO_AUTH_HASH_CONCURRENCY") -}}
{{- $from = "auth.env" -}}
{{- else if $limits.cpu -}}
{{- $hashes = int (include "dojo.cpuCores" $limits.cpu) -}}
{{- $from = printf "auth's CPU limit %v" $limits.cpu -}}
{{- else if $requests.cpu -}}
{{- $hashes = int (include "dojo.cpuCores" $requests.cpu) -}}
{{- $from = printf "auth's CPU request %v" $requests.cpu -}}
{{- end -}}
{{- $memKiB := 19456 -}}
{{- $extra := .Values.config.extraEnv | default dict -}}
{{- if hasKey $env "DOJO_AUTH_ARGON2_MEM_KIB" -}}
{{- $memKiB = int (index $env "DOJO_AUTH_ARGON2_MEM_KIB") -}}
{{- else if hasKey $extra "DOJO_AUTH_ARGON2_MEM_KIB" -}}
{{- $memKiB = int (index $extra "DOJO_AUTH_ARGON2_MEM_KIB") -}}
{{- end -}}
{{- if $limits.memory -}}
{{- $need := add (mul $hashes $memKiB) 65536 -}}
{{- $limitKiB := int (include "dojo.memoryKiB" $limits.memory) -}}
{{- if gt $need $limitKiB -}}
{{- fail (printf "auth: %d password hashes at once (DOJO_AUTH_HASH_CONCURRENCY, from %s) x DOJO_AUTH_ARGON2_MEM_KIB %d KiB + 64Mi = %d MiB exceed auth.resources.limits.memory %v (%d MiB): raise the memory limit, or lower the CPU or auth.env.DOJO_AUTH_HASH_CONCURRENCY" $hashes $from $memKiB (div (add $need 1023) 1024) $limits.memory (div $limitKiB 1024)) -}}
{{- end -}}
{{- end -}}
{{- $hashes -}}
{{- end -}}
