-- infrakit.log: structured logs through the daemon's logger.
--
--   infrakit.log.info("group converged", { group = "workers", size = 3 })
--
-- Levels: debug, info, warn, error. Fields are key = value (strings,
-- numbers, booleans); the field `mod` names the module column. Values under
-- secret-looking keys (password, token, ...) print as [REDACTED];
-- log.secret(value) masks a value wherever it would appear, and URL
-- passwords and secret query values (?token=...) are masked too.
-- log.redact(text) applies the same masking to text a script prints itself.
local core = require "infrakit._core"

local log = {}

local function at(level)
  return function(msg, fields)
    return core.log(level, tostring(msg), fields)
  end
end

--- log.debug/info/warn/error(msg, fields): one structured line.
---@alias infrakit.log.fn fun(msg: any, fields?: table<string, string|number|boolean>)
---@type infrakit.log.fn
log.debug = at("debug")
---@type infrakit.log.fn
log.info = at("info")
---@type infrakit.log.fn
log.warn = at("warn")
---@type infrakit.log.fn
log.error = at("error")

--- True if messages at this level are written.
---@type fun(level: string): boolean
log.enabled = core.log_enabled

--- Never log this value: it is masked as [REDACTED] from now on.
---@type fun(value: string)
log.secret = core.log_secret

--- text with every registered secret, URL password and secret query value
--- masked as [REDACTED]: for what a script prints outside the log.
---@type fun(text: string): string
log.redact = core.log_redact

return log
