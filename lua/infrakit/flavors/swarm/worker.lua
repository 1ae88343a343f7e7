-- flavor-swarm/worker: the swarm flavor's worker type (see
-- infrakit.flavors.swarm). The daemon serves each type of a typed built-in
-- flavor from the module <module>.<type>.
return require("infrakit.flavors.swarm").worker
