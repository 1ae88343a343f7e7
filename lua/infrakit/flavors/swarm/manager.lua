-- flavor-swarm/manager: the swarm flavor's manager type (see
-- infrakit.flavors.swarm). The daemon serves each type of a typed built-in
-- flavor from the module <module>.<type>.
return require("infrakit.flavors.swarm").manager
