-- The vanilla flavor (InfraKit's pkg/plugin/flavor/vanilla, reference §5.1),
-- served as `flavor-vanilla`.
--
-- Properties (all optional; keys match case-insensitively, as in Go):
--   Init                   list of lines, appended to the spec's Init
--   InitScriptTemplateURL  a template rendered into the Init script instead
--                          (Init and InitScriptTemplateURL exclude each other)
--   Tags                   { key = value }, merged over the spec's tags
--   Attachments            list of { ID =, Type = }, appended to the spec's
--
-- Prepare:  Init = join("\n", [spec.Init if not ""] ++ [rendered template]
--           or Init lines); Tags merged (a null spec Tags stays null when
--           there is nothing to merge); Attachments appended (a null list
--           stays null when there is nothing to append). Everything else in
--           the spec passes through unchanged.
-- Validate: Properties decode; not both Init and InitScriptTemplateURL;
--           the template, if any, renders once.
-- Healthy:  always "healthy". Drain: nothing to do.
--
-- Templates. InfraKit renders the template with a nil context (`.` is
-- empty) and no functions beyond the template engine's own; existing
-- templates therefore render the same here. In addition (an extension, the
-- names the swarm and kubernetes flavors use), the template sees:
--   SPEC                 the flavor's Properties (so extra keys there are
--                        parameters for the template)
--   INSTANCE_LOGICAL_ID  the spec's LogicalID, "" for cattle
--   ALLOCATIONS          the group's allocation {Size=, LogicalIDs=}
--   INDEX                {Group=, Sequence=} (Sequence is the group's
--                        target size, InfraKit's quirk, not a counter)
-- Validate renders with the same functions, with INSTANCE_LOGICAL_ID ""
-- and INDEX {Group = "", Sequence = 0} (there is no instance yet).
-- In the daemon the template reads environment variables and local files
-- only as the operator allowed (--template-env, --template-dir,
-- --template-schemes; infrakit.template.access, docs/security.md).
local go = require "infrakit.gotypes"

local vanilla = {}

local FIELDS = {
  { "Init", "[]string" },
  { "InitScriptTemplateURL", "string" },
  { "Tags", "map[string]string" },
  { "Attachments", "[]instance.Attachment" },
}

local function decode(properties)
  return go.decode_struct(properties, "vanilla.Spec", FIELDS)
end

-- The template module, loaded on first use (it is optional: a build or a
-- test may run without it). Returns the module or nil, message, code.
local function template_module()
  local ok, mod = pcall(require, "infrakit.template")
  if ok and type(mod) == "table" and type(mod.render_url) == "function" then return mod end
  if not ok and type(package.loaded["infrakit.template"]) ~= "table" then
    -- Lua 5.1 leaves a marker after a failed load ("loop or previous error
    -- loading module"); drop it so the next call reports the real error, or
    -- succeeds once the module is fixed.
    package.loaded["infrakit.template"] = nil
  end
  local why = ok and "infrakit.template has no render_url" or tostring(mod):match("^[^\n]*")
  if not ok and why:find("module 'infrakit.template' not found", 1, true) then
    why = "the infrakit.template module is not installed"
  end
  return nil, "templates are not available (" .. why .. ")", "ENOTSUP"
end

-- The functions vanilla adds to the template (see the header).
local function template_funcs(properties, spec, allocation, index)
  local logical_id = type(spec) == "table" and spec.LogicalID or nil
  return {
    SPEC = function() return go.is_null(properties) and {} or properties end,
    INSTANCE_LOGICAL_ID = function() return type(logical_id) == "string" and logical_id or "" end,
    ALLOCATIONS = function() return allocation end,
    INDEX = function() return index end,
  }
end

-- Renders url (yields while the template is fetched). Returns the text or
-- nil, message, code.
local function render(url, funcs)
  local template, err, code = template_module()
  if not template then return nil, err, code end
  local text
  -- No opts.access: the process's policy applies, which the daemon sets
  -- from its --template-* flags (the URL comes from a spec).
  text, err, code = template.render_url(url, nil, { funcs = funcs })
  if text == nil then
    -- the URL itself refused: say which field named it
    if code == "EACCES" and type(err) == "string" and err:sub(1, #url + 1) == url .. ":" then
      err = "InitScriptTemplateURL " .. err
    end
    return nil, err or ("rendering " .. url .. " failed"), code
  end
  if type(text) ~= "string" then
    return nil, ("rendering %s gave a %s, not text"):format(url, type(text)), "EINVAL"
  end
  return text
end

--- Checks the Properties. Renders InitScriptTemplateURL once (yields).
---@param properties table|nil Properties of the group's Flavor block
---@param allocation table|nil {Size=, LogicalIDs=}
---@return true|nil ok
---@return string|nil err
---@return string|nil code
function vanilla.validate(properties, allocation)
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  if s.InitScriptTemplateURL ~= "" and s.Init and #s.Init > 0 then
    return nil, 'Either "Init" or "InitScriptTemplateURL" can be specified but not both', "EINVAL"
  end
  if s.InitScriptTemplateURL ~= "" then
    local index = { Group = "", Sequence = 0 }
    local _, rerr, code = render(s.InitScriptTemplateURL, template_funcs(properties, nil, allocation, index))
    if rerr then return nil, rerr, code end
  end
  return true
end

--- Returns a new instance spec: spec with Init, Tags and Attachments
--- amended. spec itself is not modified. Yields when it renders a template.
---@param properties table|nil
---@param spec table instance.Spec {Properties=, Tags=, Init=, LogicalID=, Attachments=}
---@param allocation table|nil
---@param index table|nil {Group=, Sequence=}
---@return table|nil spec
---@return string|nil err
---@return string|nil code
function vanilla.prepare(properties, spec, allocation, index)
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  local out = {}
  if type(spec) == "table" then
    for k, v in pairs(spec) do out[k] = v end
  end

  local lines = {}
  if type(out.Init) == "string" and out.Init ~= "" then lines[#lines + 1] = out.Init end
  if s.InitScriptTemplateURL ~= "" then
    local text, rerr, code = render(s.InitScriptTemplateURL, template_funcs(properties, spec, allocation, index))
    if not text then return nil, rerr, code end
    lines[#lines + 1] = text
  else
    for _, line in ipairs(s.Init or {}) do lines[#lines + 1] = line end
  end
  out.Init = table.concat(lines, "\n")

  if s.Tags and next(s.Tags) ~= nil then
    local tags = {}
    if type(out.Tags) == "table" then
      for k, v in pairs(out.Tags) do tags[k] = v end
    end
    for k, v in pairs(s.Tags) do tags[k] = v end
    out.Tags = tags
  end

  if s.Attachments and #s.Attachments > 0 then
    local attachments = go.list()
    if type(out.Attachments) == "table" then
      for _, a in ipairs(out.Attachments) do attachments[#attachments + 1] = a end
    end
    for _, a in ipairs(s.Attachments) do attachments[#attachments + 1] = a end
    out.Attachments = attachments
  end

  return out
end

--- Always "healthy" (InfraKit's vanilla has no health check).
---@param properties table|nil
---@param instance table instance.Description
---@return string
function vanilla.healthy(properties, instance)
  return "healthy"
end
-- The check never looks at the instance's Properties: the controller need
-- not describe instances with them.
vanilla.healthy_properties = false

--- Nothing to drain.
---@param properties table|nil
---@param instance table instance.Description
---@return true
function vanilla.drain(properties, instance)
  return true
end

return vanilla
