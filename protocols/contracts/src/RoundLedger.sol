// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {FleetRegistry} from "./FleetRegistry.sol";

/// @title RoundLedger
/// @notice One settlement per (fleet, round), made by a gateway the fleet's registry authorises.
/// @dev Settlement writes three new slots whatever the round's size: the contributions root, the
/// settlement time with the reward total, and the new model's provenance entry (none when the
/// round kept its already settled parent). The parent model and round record hashes are in the
/// RoundSettled event only, which auditors read.
contract RoundLedger {
    struct Settlement {
        bytes32 contributionsRoot;
        uint64 settledAt;
        uint192 rewardTotal;
    }

    FleetRegistry public immutable registry;
    bytes32 public immutable fleet;

    mapping(uint64 round => Settlement) private _settlements;
    /// round + 1 of the settlement that produced a model, so zero means "never settled".
    mapping(bytes32 model => uint64) private _modelRound;

    event RoundSettled(
        bytes32 indexed fleet,
        uint64 indexed round,
        address indexed gateway,
        bytes32 parentModel,
        bytes32 newModel,
        bytes32 contributionsRoot,
        uint256 rewardTotal,
        bytes32 recordHash
    );

    error NotGateway(address account);
    error WrongFleet(bytes32 expected, bytes32 given);
    error RoundAlreadySettled(uint64 round);
    error ModelAlreadySettled(bytes32 model);
    error ZeroValue(string field);
    error RewardTotalTooLarge(uint256 rewardTotal);
    error RoundOutOfRange(uint64 round);

    constructor(FleetRegistry registry_) {
        registry = registry_;
        fleet = registry_.fleet();
    }

    /// @notice Records a round. Reverts when the round was settled before, or when its new model
    /// was settled by another round (a round that kept its settled parent re-names it, and may).
    function settle(
        bytes32 fleet_,
        uint64 round,
        bytes32 parentModel,
        bytes32 newModel,
        bytes32 contributionsRoot,
        uint256 rewardTotal,
        bytes32 recordHash
    ) external {
        if (!registry.isGateway(msg.sender)) revert NotGateway(msg.sender);
        if (fleet_ != fleet) revert WrongFleet(fleet, fleet_);
        if (newModel == bytes32(0)) revert ZeroValue("newModel");
        if (contributionsRoot == bytes32(0)) revert ZeroValue("contributionsRoot");
        if (recordHash == bytes32(0)) revert ZeroValue("recordHash");
        if (rewardTotal > type(uint192).max) revert RewardTotalTooLarge(rewardTotal);
        if (round == type(uint64).max) revert RoundOutOfRange(round);
        Settlement storage s = _settlements[round];
        if (s.settledAt != 0) revert RoundAlreadySettled(round);
        // A round whose aggregate evaluated worse keeps its parent: newModel == parentModel. When
        // that parent is settled already, its provenance entry (the round that produced it) stays.
        if (_modelRound[newModel] == 0) _modelRound[newModel] = round + 1;
        else if (newModel != parentModel) revert ModelAlreadySettled(newModel);
        s.contributionsRoot = contributionsRoot;
        s.settledAt = uint64(block.timestamp);
        s.rewardTotal = uint192(rewardTotal);
        emit RoundSettled(fleet_, round, msg.sender, parentModel, newModel, contributionsRoot, rewardTotal, recordHash);
    }

    /// @notice True when some round of this fleet produced `model`: the model-provenance check.
    function isSettledModel(bytes32 model) external view returns (bool) {
        return _modelRound[model] != 0;
    }

    /// @notice Whether some round produced `model`, and which.
    function roundOfModel(bytes32 model) external view returns (bool settled, uint64 round) {
        uint64 r = _modelRound[model];
        return r == 0 ? (false, 0) : (true, r - 1);
    }

    /// @notice A round's settlement; `settledAt` is zero when the round is not settled.
    function settlementOf(uint64 round) external view returns (Settlement memory) {
        return _settlements[round];
    }

    /// @notice A settled round's contributions root (zero when not settled).
    function rootOf(uint64 round) external view returns (bytes32) {
        return _settlements[round].contributionsRoot;
    }

    /// @notice The contributions roots of several rounds (zero for a round not settled): one call
    /// for a whole multi-round claim.
    function rootsOf(uint64[] calldata rounds) external view returns (bytes32[] memory roots) {
        uint256 n = rounds.length;
        roots = new bytes32[](n);
        for (uint256 i = 0; i < n; ) {
            roots[i] = _settlements[rounds[i]].contributionsRoot;
            unchecked {
                ++i;
            }
        }
    }
}
