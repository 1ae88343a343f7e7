-- Runs busted inside infrakit's own Lua, so specs see the real bindings and
-- the real loop: `infrakit lua spec/busted.lua [busted options] PATHS...`.
-- Each test runs inside the script's task; busted's pcalls let yields
-- through, so tests may call functions that wait (sleep, exec, wait).
local ok, err = pcall(require("busted.runner"), { standalone = false })
if not ok then
  -- On Lua 5.1 busted signals "tests failed" by raising nil.
  if err == nil then return 1 end
  error(err, 0)
end
