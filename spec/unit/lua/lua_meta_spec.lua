-- lua/meta/ (LuaCATS files for editors) is generated from the annotations
-- in lua/infrakit/ by scripts/gen-lua-meta.lua (make lua-meta); every
-- public function must be annotated and the committed files current.
local infrakit = require "infrakit"

describe("lua/meta", function()
  it("matches the annotations of the public modules, and every public function has them", function()
    local r = assert(infrakit.exec({ infrakit.executable, "lua", "scripts/gen-lua-meta.lua", "--check", "lua/meta" }))
    assert.are.equal("", r.stderr)
    assert.are.equal(0, r.status)
  end)
end)
