-- A vanilla-like flavor for the benchmarks when the built-in is absent.
return {
  validate = function() return true end,
  prepare = function(props, spec, alloc, index)
    local lines = {}
    if spec.Init ~= "" then lines[1] = spec.Init end
    for _, l in ipairs(props.Init or {}) do lines[#lines + 1] = l end
    spec.Init = table.concat(lines, "\n")
    for k, v in pairs(props.Tags or {}) do spec.Tags[k] = v end
    return spec
  end,
}
