-- infrakit.template: InfraKit-style templates (swarm and kubernetes init
-- scripts, a zookeeper config, a report over JSON data, a Lua template)
-- rendered and compared byte for byte with their expected output.
-- The cases, with the functions a flavor would supply, are in
-- spec/fixtures/templates/cases.lua.
local template = require "infrakit.template"
local tjson = require "infrakit.json.go"
local helper = dofile("spec/unit/lua/spec_helper.lua")

local dir = "spec/fixtures/templates/"

local function read(path)
  local f = assert(io.open(dir .. path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

describe("infrakit.template fixtures", function()
  helper.track_refs()

  for _, c in ipairs(dofile(dir .. "cases.lua")) do
    it(c.name .. " (" .. c.template .. ")", function()
      local ctx = c.context_file and tjson.decode(read(c.context_file)) or nil
      local out, err, code = template.render_url(dir .. c.template, ctx, { funcs = c.funcs, vars = c.vars })
      assert.are.same({ nil, nil }, { err, code })
      assert.are.equal(read(c.expected), out)
    end)
  end
end)
