-- Renders per second of a ~20-line InfraKit-style template with a range,
-- conditionals and a few functions. Prints numbers; asserts nothing.
--   ./infrakit lua spec/bench/template_bench.lua [seconds]
local infrakit = require "infrakit"
local template = require "infrakit.template"

local text = [[
#!/bin/sh
# {{ .Name | upper }} bootstrap, generated {{ len .Nodes }} nodes
set -o errexit
{{ $role := default "worker" .Role -}}
{{ range $i, $node := .Nodes -}}
{{ if $node.Manager -}}
echo "manager {{ $i }}: {{ $node.IP }}"  # {{ printf "%-8s" $node.Name }}
{{- else -}}
echo "worker {{ $i }}: {{ $node.IP | quote }}"
{{- end }}
{{ end -}}
{{ with .Labels -}}
LABELS="{{ range $k, $v := . }}{{ $k }}={{ $v }} {{ end }}"
{{- end }}
ROLE={{ $role }}
{{ if and .Join (gt (len .Nodes) 1) -}}
docker swarm join --token {{ .Token | trim }} {{ index .Nodes 0 "IP" }}:2377
{{- else -}}
docker swarm init
{{- end }}
]]

local ctx = {
  Name = "cluster-a", Role = "manager", Join = true, Token = "  SWMTKN-1-abc  ",
  Labels = { zone = "a", tier = "web", env = "prod" },
  Nodes = {},
}
for i = 1, 5 do
  ctx.Nodes[i] = { Name = "node" .. i, IP = "10.0.0." .. i, Manager = i <= 3 }
end

local seconds = tonumber(arg and arg[1]) or 2
local t = assert(template.parse(text, { name = "bench" }))
local out = assert(t:render(ctx))
io.write(out)

local function measure(fn)
  local n, t0 = 0, infrakit.clock()
  local deadline = t0 + seconds
  repeat
    for _ = 1, 200 do fn() end
    n = n + 200
  until infrakit.clock() >= deadline
  return n / (infrakit.clock() - t0)
end

print(("render (parsed once): %.0f renders/s"):format(measure(function() t:render(ctx) end)))
print(("parse + render:       %.0f renders/s"):format(measure(function() template.render(text, ctx) end)))
