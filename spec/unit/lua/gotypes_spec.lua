local go = require "infrakit.gotypes"

describe("infrakit.gotypes.decode_struct", function()
  it("decodes the supported types", function()
    local s = assert(go.decode_struct({ prefix = "web", Lines = { "a" }, Debug = true },
      "x.Spec", { { "Prefix", "string" }, { "Lines", "[]string" }, { "Debug", "bool" }, { "Extra", "any" } }))
    assert.are.equal("web", s.Prefix)
    assert.are.same({ "a" }, s.Lines)
    assert.is_true(s.Debug)
    assert.is_nil(s.Extra)
  end)

  it("raises on an unknown type, naming the field, the type and the supported types", function()
    local ok, err = pcall(function()
      local r = go.decode_struct({ Delay = 3 }, "x.Spec", { { "Prefix", "string" }, { "Delay", "uint8" } })
      return r -- not a tail call: the error's position is this line
    end)
    assert.is_false(ok)
    assert.matches('field Delay of x.Spec has type "uint8", which infrakit.gotypes does not support', err, 1, true)
    assert.matches("supported: %[%]instance%.Attachment, %[%]string, any, bool, float64, int, "
      .. "map%[string%]%[%]instance%.Attachment, map%[string%]string, string", err)
    -- the caller's line, not gotypes.lua's
    assert.matches("gotypes_spec.lua", err, 1, true)
  end)

  it("raises on a malformed field list", function()
    local ok, err = pcall(go.decode_struct, {}, "x.Spec", { { "Prefix" } })
    assert.is_false(ok)
    assert.matches("field 1 of x.Spec", err, 1, true)
    ok, err = pcall(go.decode_struct, {}, "x.Spec", "Prefix")
    assert.is_false(ok)
    assert.matches("fields must be a list", err, 1, true)
  end)

  it("lists the supported type names", function()
    assert.are.same({ "[]instance.Attachment", "[]string", "any", "bool", "float64", "int",
      "map[string][]instance.Attachment", "map[string]string", "string" }, go.types())
  end)

  it("decodes numbers as Go's int and float64 do", function()
    local F = { { "Port", "int" }, { "Timeout", "float64" } }
    assert.are.same({ Port = 80, Timeout = 1.5 }, assert(go.decode_struct({ port = 80, timeout = 1.5 }, "http.Spec", F)))
    assert.are.same({ Port = 0, Timeout = 0 }, assert(go.decode_struct(go.null, "http.Spec", F)))
    local _, err = go.decode_struct({ Port = 1.5 }, "http.Spec", F)
    assert.are.equal("json: cannot unmarshal number 1.5 into Go struct field Spec.Port of type int", err)
    _, err = go.decode_struct({ Port = "80" }, "http.Spec", F)
    assert.are.equal("json: cannot unmarshal string into Go struct field Spec.Port of type int", err)
    _, err = go.decode_struct({ Timeout = true }, "http.Spec", F)
    assert.are.equal("json: cannot unmarshal bool into Go struct field Spec.Timeout of type float64", err)
  end)

  it("decodes a map of attachment lists (the swarm flavor's Attachments)", function()
    local F = { { "Attachments", "map[string][]instance.Attachment" } }
    local s = assert(go.decode_struct({ attachments = { a = { { id = "v1", type = "ebs" } }, ["*"] = {} } }, "swarm.Spec", F))
    assert.are.same({ a = { { ID = "v1", Type = "ebs" } }, ["*"] = {} }, s.Attachments)
    assert.is_nil(assert(go.decode_struct({ Attachments = go.null }, "swarm.Spec", F)).Attachments)
    local _, err = go.decode_struct({ Attachments = { "x" } }, "swarm.Spec", F)
    assert.are.equal("json: cannot unmarshal array into Go struct field Spec.Attachments of type "
      .. "map[string][]instance.Attachment", err)
    _, err = go.decode_struct({ Attachments = { a = { { ID = 5 } } } }, "swarm.Spec", F)
    assert.are.equal("json: cannot unmarshal number into Go struct field Attachment.ID of type string", err)
  end)
end)
